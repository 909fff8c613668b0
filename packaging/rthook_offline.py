# PyInstaller runtime hook: the bundle never reaches the network. Hugging Face / timm weight
# downloads fail at once instead of retrying for ~46 s, and TensorFlow keeps its logging quiet.
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

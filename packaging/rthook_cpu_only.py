# PyInstaller runtime hook of the CPU build: it ships without cuDNN's engine libraries, so torch
# must not use a GPU even where one exists (it would fail at the first convolution). gmdesk's
# device "auto" then means CPU, and "--device cuda" is refused with a message naming the GPU build.
import os

os.environ["GMDESK_CPU_ONLY"] = "1"
os.environ["CUDA_VISIBLE_DEVICES"] = ""

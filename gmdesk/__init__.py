"""gmdesk: General Movements screening from infant pose (domain library, no Qt)."""

__version__ = "0.1.0"

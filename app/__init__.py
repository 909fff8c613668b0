"""gmdesk desktop application (PySide6 + pyqtgraph). Imports go one way: app -> gmdesk."""

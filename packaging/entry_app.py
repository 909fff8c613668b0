"""Bundle entry point of ``gmdesk-app`` (PyInstaller): the desktop application."""

import multiprocessing

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from app.main import main

    raise SystemExit(main())

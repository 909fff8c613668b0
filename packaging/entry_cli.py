"""Bundle entry point of ``gmdesk`` (PyInstaller): the command line, also the app's job runner."""

import multiprocessing

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from gmdesk.cli.main import main

    raise SystemExit(main())

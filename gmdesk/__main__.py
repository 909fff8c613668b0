from gmdesk.cli.main import main

raise SystemExit(main())

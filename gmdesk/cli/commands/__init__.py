"""The ``gmdesk`` commands, one module each: ``add_parser(subparsers)`` adds and returns the command's parser,
``run(args)`` does the work (importing the pipeline only then) and returns the exit code."""

from pelican_tui.cli import main

raise SystemExit(main())

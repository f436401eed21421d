from vibecli.cli.app import main

main()

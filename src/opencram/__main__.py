from opencram.cli import main

main()

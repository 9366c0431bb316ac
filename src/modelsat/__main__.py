"""`python -m modelsat ...`: the same command as the `modelsat` entry point.

Example:
    $ python -m modelsat route --router routers/default "Integrate x^2 from 0 to 1"
"""

from modelsat.cli.main import main

if __name__ == "__main__":
    main()

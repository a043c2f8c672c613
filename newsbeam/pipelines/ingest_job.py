"""`python -m newsbeam.pipelines.ingest_job --output=... --source=...`: ingest without the subcommand word.

For schedulers that launch "a Python pipeline file plus Beam options", such as Airflow's
BeamRunPythonPipelineOperator (py_options=["-m"], py_file="newsbeam.pipelines.ingest_job").
"""

import sys

from newsbeam.cli import main

if __name__ == "__main__":
    sys.exit(main(["ingest", *sys.argv[1:]]))

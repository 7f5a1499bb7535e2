"""`python -m tasks.consumer tasks.huey|tasks.schedule [options]`: huey's consumer with the portal's logging.

It takes `huey_consumer`'s options (`--workers`, `--worker-type`, `--no-periodic`, ...). huey_consumer adds a
handler of its own to huey's loggers, so under it each of huey's lines would be printed twice, in two formats.
"""

from __future__ import annotations

import sys

from huey.consumer_options import ConsumerConfig, OptionParserHandler
from huey.utils import load_class

from portal.logs import configure_logging


def main() -> None:
    parser = OptionParserHandler().get_option_parser()
    options, args = parser.parse_args()
    if len(args) != 1:
        parser.error("name the queue to consume: tasks.huey (sends, renders) or tasks.schedule (the minute sweeps)")
    config = ConsumerConfig(**{key: value for key, value in vars(options).items() if value is not None})
    config.validate()
    configure_logging(config.loglevel)
    # On SIGHUP huey restarts by running sys.executable with sys.argv: this module again, not its file as a script.
    sys.argv[:1] = ["-m", "tasks.consumer"]
    load_class(args[0]).create_consumer(**config.values).run()


if __name__ == "__main__":
    main()

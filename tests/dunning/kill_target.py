"""Run in a child process by the SIGKILL tests: store today's reminders, or send them slowly,
then wait to be killed. ``python -m tests.dunning.kill_target <db url> run|send <port>``."""

from __future__ import annotations

import sys
import time
from datetime import timedelta

from service.config import MailSettings
from service.db import make_engine, make_session_factory
from service.dunning.sender import Sender
from service.dunning.smtp import Mailer
from tests.dunning.seed import TODAY
from tests.dunning.test_sender import FROM, SETTINGS


def main() -> None:
    url, what = sys.argv[1], sys.argv[2]
    factory = make_session_factory(make_engine(url))
    if what == "run":
        from service.dunning.run import run

        run(factory, TODAY, SETTINGS)
        print("stored", flush=True)
    else:
        mail = MailSettings(host="127.0.0.1", port=int(sys.argv[3]), mail_from=FROM, timeout=30)
        print("sending", flush=True)
        Sender(factory, Mailer(mail), batch=1, lease=timedelta(seconds=2)).drain()
        print("sent", flush=True)
    time.sleep(3600)


if __name__ == "__main__":
    main()

from sandbox.slack.fixtures import *  # noqa

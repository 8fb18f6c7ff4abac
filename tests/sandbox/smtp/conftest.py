from sandbox.smtp.fixtures import *  # noqa

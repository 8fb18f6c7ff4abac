from sandbox.onetrust.fixtures import *  # noqa

"""edxbus.Producer / edxbus.Consumer on the embedded broker (a real SQLite file)."""
import unittest

from bus_cases import BusCases
from edxbus_testing import TempDirTest


class SqliteBus(BusCases, TempDirTest):
    def settings(self, **more):
        return self.sqlite_settings(**more)


if __name__ == "__main__":
    unittest.main()

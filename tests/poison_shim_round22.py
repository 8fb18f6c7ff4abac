"""Test-only: run ``python -m pipelines.servicenow`` with a record that kills the process in dlt's
NORMALIZE step (``os._exit(137)``, as the OOM killer would on a value the normalizer explodes on), to test
that :mod:`pipelines.common.poison` bounds crashes after extract too.

``python -m tests.poison_shim_round22``; ``PROJECTX_TEST_POISON_ID``: the ``sys_id`` of the poison record
(unset: an ordinary sync). Product code never reads that variable: this module patches dlt's normalize step
from outside: the relational normalizer (``Schema.normalize_data_item``, for rows extracted as dicts) and the
arrow one (``ArrowItemsNormalizer.__call__``, for extracted parquet files: ServiceNow's tables), which dies
when the file holds the record. Extract and row building are untouched.
"""

from __future__ import annotations

import os

from tests.poison_shim import POISON_ENV


def main() -> None:
    import pyarrow.parquet as pq
    from dlt.common.schema.schema import Schema
    from dlt.normalize.items_normalizers.arrow import ArrowItemsNormalizer

    from pipelines.servicenow.__main__ import main as sync

    poison = os.environ.get(POISON_ENV)
    if poison:
        normalize = Schema.normalize_data_item

        def dying(self, item, load_id, table_name):
            if isinstance(item, dict) and item.get("sys_id") == poison:
                os._exit(137)
            return normalize(self, item, load_id, table_name)

        Schema.normalize_data_item = dying
        arrow = ArrowItemsNormalizer.__call__

        def dying_arrow(self, extracted_items_file, root_table_name):
            path = self.normalize_storage.extracted_packages.storage.make_full_path(extracted_items_file)
            table = pq.read_table(path)
            if "sys_id" in table.column_names and poison in table.column("sys_id").to_pylist():
                os._exit(137)
            return arrow(self, extracted_items_file, root_table_name)

        ArrowItemsNormalizer.__call__ = dying_arrow
    sync()


if __name__ == "__main__":
    main()

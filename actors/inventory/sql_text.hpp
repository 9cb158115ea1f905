// SQL text shared by the store's files (inventory_store.cpp writes, inventory_reports.cpp reads).
#pragma once

// A timestamp column rendered as clock::iso8601 renders one (milliseconds, Z), for SQL built by
// literal concatenation: "SELECT " INVENTORY_ISO("created_at") " FROM …".
#define INVENTORY_ISO(col) "to_char((" col ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

"""The CSMS's domain tables (sql/003_csms.sql): plain SQL over an asyncpg pool."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import asyncpg

from csms.fleet import Charger
from csms.metering import Usage

CHARGER_COLUMNS = "charger_id, site, latitude, longitude, max_power_kw, ocpp_version"


def _charger(row: asyncpg.Record) -> Charger:
    return Charger(
        id=row["charger_id"],
        site=row["site"],
        lat=row["latitude"],
        lon=row["longitude"],
        max_power_kw=float(row["max_power_kw"]) if row["max_power_kw"] else None,
        ocpp_version=row["ocpp_version"],
    )


class Repository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def chargers(self) -> list[Charger]:
        rows = await self.pool.fetch(f"SELECT {CHARGER_COLUMNS} FROM charger_info")
        return [_charger(row) for row in rows]

    async def password_sha256(self, charger_id: str) -> str | None:
        """The hex SHA-256 of the station's Basic-auth password; None: it needs none."""
        return await self.pool.fetchval(
            "SELECT password_sha256 FROM charger_info WHERE charger_id = $1", charger_id
        )

    async def register(self, charger_id: str, ocpp_version: str) -> Charger:
        """A station unknown until its BootNotification, so connected now; its row (one row,
        not the table: thousands of stations register at once)."""
        row = await self.pool.fetchrow(
            "INSERT INTO charger_info (charger_id, registered_by, status, ocpp_version) "
            "VALUES ($1, 'boot', 'Online', $2) "
            "ON CONFLICT (charger_id) DO UPDATE SET status = 'Online', ocpp_version = $2 "
            f"RETURNING {CHARGER_COLUMNS}",
            charger_id,
            ocpp_version,
        )
        assert row is not None  # ON CONFLICT DO UPDATE: RETURNING has the row either way
        return _charger(row)

    async def booted(
        self,
        charger_id: str,
        vendor: str,
        model: str,
        serial: str | None,
        firmware: str | None,
        when: datetime,
    ) -> None:
        """What the BootNotification says, and a sign of life, in one statement."""
        await self.pool.execute(
            "UPDATE charger_info SET vendor = $2, model = $3, serial_number = $4, "
            "firmware_version = $5, last_heartbeat = $6 WHERE charger_id = $1",
            charger_id,
            vendor,
            model,
            serial,
            firmware,
            when,
        )

    async def connection(
        self,
        charger_id: str,
        status: str,
        remote_address: str | None = None,
        close_code: int | None = None,
        reason: str | None = None,
        sets_status: bool = True,
        ocpp_version: str | None = None,
    ) -> None:
        """Log a connection event; connected/disconnected also set charger_info.status, unless
        `sets_status` is False (a station's older connection closing after a newer opened);
        connected also its `ocpp_version`, the negotiated subprotocol."""
        async with self.pool.acquire() as connection, connection.transaction():
            await connection.execute(
                "INSERT INTO charger_connection_log "
                "(charger_id, status, remote_address, close_code, reason) "
                "VALUES ($1, $2, $3, $4, $5)",
                charger_id,
                status,
                remote_address,
                close_code,
                reason,
            )
            if status != "refused" and sets_status:
                online = status == "connected"
                await connection.execute(
                    "UPDATE charger_info SET status = $2, "
                    "current_power = CASE WHEN $3 THEN current_power ELSE 0 END, "
                    "ocpp_version = COALESCE($4, ocpp_version) "
                    "WHERE charger_id = $1",
                    charger_id,
                    "Online" if online else "Offline",
                    online,
                    ocpp_version,
                )

    async def heartbeat(self, charger_id: str, when: datetime) -> None:
        await self.pool.execute(
            "UPDATE charger_info SET last_heartbeat = $2 WHERE charger_id = $1", charger_id, when
        )

    async def status(self, charger_id: str, status: str, power_kw: float) -> None:
        """Connector status or power changed: charger_info now, charger_status_log over time."""
        async with self.pool.acquire() as connection, connection.transaction():
            await connection.execute(
                "UPDATE charger_info SET connector_status = $2, current_power = $3 "
                "WHERE charger_id = $1",
                charger_id,
                status,
                power_kw,
            )
            await connection.execute(
                "INSERT INTO charger_status_log (charger_id, status, power) VALUES ($1, $2, $3)",
                charger_id,
                status,
                power_kw,
            )

    async def transaction_events(
        self, charger_id: str, transaction_id: str
    ) -> list[dict[str, Any]]:
        """The TransactionEventRequests stored for a charger's transaction (camelCase payloads)."""
        rows = await self.pool.fetch(
            "SELECT request FROM charger_transaction_event "
            "WHERE charger_id = $1 AND transaction_id = $2 ORDER BY seq_no",
            charger_id,
            transaction_id,
        )
        return [json.loads(row["request"]) for row in rows]

    async def transaction_event(
        self, charger_id: str, transaction_id: str, seq_no: int, request: dict[str, Any]
    ) -> None:
        """Keep a TransactionEvent; a retransmission of a seqNo replaces the earlier copy."""
        await self.pool.execute(
            "INSERT INTO charger_transaction_event (transaction_id, seq_no, charger_id, request) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT (charger_id, transaction_id, seq_no) DO UPDATE SET "
            "request = EXCLUDED.request, received_at = now()",
            transaction_id,
            seq_no,
            charger_id,
            json.dumps(request),
        )

    async def usage(self, charger_id: str, usage: Usage) -> None:
        """Insert or refresh the transaction's row; a replayed or repeated event rewrites the
        same row with the same numbers, so nothing is counted twice."""
        await self.pool.execute(
            """
            INSERT INTO charger_usage_log (transaction_id, charger_id, evse_id, id_token,
                energy_consumed, cost, duration_seconds, start_time, end_time, stopped_reason,
                remote_start_id, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, now())
            ON CONFLICT (charger_id, transaction_id) DO UPDATE SET
                evse_id = EXCLUDED.evse_id, id_token = EXCLUDED.id_token,
                energy_consumed = EXCLUDED.energy_consumed, cost = EXCLUDED.cost,
                duration_seconds = EXCLUDED.duration_seconds, start_time = EXCLUDED.start_time,
                end_time = EXCLUDED.end_time, stopped_reason = EXCLUDED.stopped_reason,
                remote_start_id = EXCLUDED.remote_start_id, updated_at = now()
            """,
            usage.transaction_id,
            charger_id,
            usage.evse_id,
            usage.id_token,
            usage.energy_kwh,
            usage.cost,
            usage.duration_seconds,
            usage.start_time,
            usage.end_time,
            usage.stopped_reason,
            usage.remote_start_id,
        )

    async def transaction_id_16(self, charger_id: str, start: dict[str, Any]) -> tuple[int, bool]:
        """The OCPP 1.6 transactionId of a StartTransaction (`start`: what identifies it in its
        TransactionEvent form, csms/metering16.py), and whether it is new: the one it got before
        if the station sends it again, else a new one, unique across restarts and never the
        name of another transaction of that charger."""
        earlier = await self.pool.fetchval(
            "SELECT transaction_id FROM charger_transaction_event "
            "WHERE charger_id = $1 AND seq_no = 0 AND request @> $2::jsonb LIMIT 1",
            charger_id,
            json.dumps(start),
        )
        if earlier is not None:
            return int(earlier), False
        while True:  # ends: the charger has finitely many transactions
            row = await self.pool.fetchrow(_NEXT_16, charger_id)
            assert row is not None
            if not row["taken"]:
                return int(row["id"]), True


_NEXT_16 = """
WITH next AS (SELECT nextval('ocpp16_transaction_id')::text AS id)
SELECT next.id, EXISTS (
    SELECT 1 FROM charger_transaction_event e WHERE e.charger_id = $1 AND e.transaction_id = next.id
) AS taken
FROM next
"""
"""A new 1.6 transactionId and whether the charger already has a transaction of that name: one
its 2.0.1 or 2.1 firmware chose, or one numbered before the sequence was reset."""

import asyncio

import asyncpg


def test_fixture(database_url: str, private_postgres) -> None:
    async def main() -> None:
        c = await asyncpg.connect(database_url)
        assert await c.fetchval("select 1") == 1
        await c.close()
        c = await asyncpg.connect(private_postgres.url())
        await c.close()

    asyncio.run(main())
    private_postgres.stop()
    private_postgres.start()

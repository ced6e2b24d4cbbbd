-- Performance by hour of day (SQLite; same result as performance_by_hour.sql on PostgreSQL).
-- The ledger stores SQLite times as UTC text, so strftime('%H') is the UTC hour.
SELECT
    CAST(strftime('%H', "timestamp") AS INTEGER) AS hour_utc,
    COUNT(*) AS trades,
    SUM(CASE WHEN net_pnl > 0 THEN 1 ELSE 0 END) AS wins,
    AVG(CASE WHEN net_pnl > 0 THEN 1.0 ELSE 0.0 END) AS win_rate,
    SUM(net_pnl) AS total_net_pnl,
    AVG(net_pnl) AS avg_net_pnl,
    AVG(pnl_pct) AS avg_pnl_pct
FROM trades
GROUP BY 1
ORDER BY 1;

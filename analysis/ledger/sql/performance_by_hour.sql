-- Performance by hour of day (PostgreSQL).
-- Groups closed trades by the UTC hour of their close time ("timestamp", as in the original
-- design; use entry_time instead to ask "when is it good to open a trade?"). Hours without
-- trades are absent. win_rate counts a trade as a win when net_pnl (after fees) is > 0.
SELECT
    CAST(EXTRACT(HOUR FROM "timestamp" AT TIME ZONE 'UTC') AS INTEGER) AS hour_utc,
    COUNT(*) AS trades,
    SUM(CASE WHEN net_pnl > 0 THEN 1 ELSE 0 END) AS wins,
    AVG(CASE WHEN net_pnl > 0 THEN 1.0 ELSE 0.0 END) AS win_rate,
    SUM(net_pnl) AS total_net_pnl,
    AVG(net_pnl) AS avg_net_pnl,
    AVG(pnl_pct) AS avg_pnl_pct
FROM trades
GROUP BY 1
ORDER BY 1;

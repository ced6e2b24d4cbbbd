-- Model confidence buckets vs win rate (SQLite; same result as confidence_buckets.sql).
-- CAST(... AS INTEGER) truncates, which is FLOOR for confidences >= 0.
SELECT
    MIN(CAST(model_confidence * 10 AS INTEGER), 9) / 10.0 AS bucket_low,
    (MIN(CAST(model_confidence * 10 AS INTEGER), 9) + 1) / 10.0 AS bucket_high,
    COUNT(*) AS trades,
    AVG(model_confidence) AS avg_confidence,
    AVG(CASE WHEN net_pnl > 0 THEN 1.0 ELSE 0.0 END) AS win_rate,
    AVG(net_pnl) AS avg_net_pnl,
    SUM(net_pnl) AS total_net_pnl
FROM trades
WHERE model_confidence IS NOT NULL
GROUP BY 1, 2
ORDER BY 1;

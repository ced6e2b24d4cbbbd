-- Model confidence buckets vs win rate (PostgreSQL).
-- Ten buckets of width 0.1 over model_confidence (the strategy's P(take profit) at entry);
-- confidence 1.0 falls in the top bucket [0.9, 1.0]. Trades without a confidence are left out.
-- A calibrated model shows win_rate close to avg_confidence in every bucket.
SELECT
    LEAST(FLOOR(model_confidence * 10), 9) / 10.0 AS bucket_low,
    (LEAST(FLOOR(model_confidence * 10), 9) + 1) / 10.0 AS bucket_high,
    COUNT(*) AS trades,
    AVG(model_confidence) AS avg_confidence,
    AVG(CASE WHEN net_pnl > 0 THEN 1.0 ELSE 0.0 END) AS win_rate,
    AVG(net_pnl) AS avg_net_pnl,
    SUM(net_pnl) AS total_net_pnl
FROM trades
WHERE model_confidence IS NOT NULL
GROUP BY 1, 2
ORDER BY 1;

-- Databases of the compose stack: Freqtrade's own trades DB next to the tribar ledger.
CREATE DATABASE freqtrade OWNER tribar;

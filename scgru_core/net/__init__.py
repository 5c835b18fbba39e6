"""The forecaster and what it costs: the recurrent model and its cells, training with masks held, the memory and time
budget of a training, forecasts and their errors, parameter/MAC/byte counts and latency, lower-precision copies."""

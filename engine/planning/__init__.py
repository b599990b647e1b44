"""Planning under uncertainty: futures, the two-stage stochastic programme, out-of-sample scores."""

// Every test here is heavy (thousands of sockets, a real Host process, a network namespace) and several measure time:
// run them one at a time so they do not skew each other.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

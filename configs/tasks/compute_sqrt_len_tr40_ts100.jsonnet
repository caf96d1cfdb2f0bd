// compute_sqrt / len_tr40_ts100 (the Chomsky-hierarchy benchmark: docs/tasks.md).
{
  data: { task: 'compute_sqrt', split: 'len_tr40_ts100' },
}

// binary_addition / len_tr40_ts500 (the Chomsky-hierarchy benchmark: docs/tasks.md).
{
  data: { task: 'binary_addition', split: 'len_tr40_ts500' },
}

// binary_multiplication / len_tr40_ts500 (the Chomsky-hierarchy benchmark: docs/tasks.md).
{
  data: { task: 'binary_multiplication', split: 'len_tr40_ts500' },
}

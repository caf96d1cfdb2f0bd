// parity_check / len_tr40_ts500 (the Chomsky-hierarchy benchmark: docs/tasks.md).
{
  data: { task: 'parity_check', split: 'len_tr40_ts500' },
}

// parity_check / len_tr40_ts100 (the Chomsky-hierarchy benchmark: docs/tasks.md).
{
  data: { task: 'parity_check', split: 'len_tr40_ts100' },
}

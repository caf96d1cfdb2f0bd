// equal_repeats / len_tr40_ts500 (the Chomsky-hierarchy repository's extra tasks: docs/tasks.md).
{
  data: { task: 'equal_repeats', split: 'len_tr40_ts500' },
}

// divide_by_two / len_tr40_ts500 (the Chomsky-hierarchy repository's extra tasks: docs/tasks.md).
{
  data: { task: 'divide_by_two', split: 'len_tr40_ts500' },
}

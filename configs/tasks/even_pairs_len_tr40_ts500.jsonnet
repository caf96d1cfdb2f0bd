// even_pairs / len_tr40_ts500 (the Chomsky-hierarchy benchmark: docs/tasks.md).
{
  data: { task: 'even_pairs', split: 'len_tr40_ts500' },
}

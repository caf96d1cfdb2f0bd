// missing_duplicate_string / len_tr40_ts500 (the Chomsky-hierarchy benchmark: docs/tasks.md).
{
  data: { task: 'missing_duplicate_string', split: 'len_tr40_ts500' },
}

// missing_duplicate_string / len_tr40_ts100 (the Chomsky-hierarchy benchmark: docs/tasks.md).
{
  data: { task: 'missing_duplicate_string', split: 'len_tr40_ts100' },
}

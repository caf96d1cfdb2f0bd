// odds_first / len_tr40_ts100 (the Chomsky-hierarchy benchmark: docs/tasks.md).
{
  data: { task: 'odds_first', split: 'len_tr40_ts100' },
}

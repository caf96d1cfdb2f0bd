// bucket_sort / len_tr40_ts500 (the Chomsky-hierarchy benchmark: docs/tasks.md).
{
  data: { task: 'bucket_sort', split: 'len_tr40_ts500' },
}

// sum / len_tr8_ts16 (SPEC section 3).
{
  data: { task: 'sum', split: 'len_tr8_ts16' },
}

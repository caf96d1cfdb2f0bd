// addition / len_tr8_ts16 (SPEC section 3).
{
  data: { task: 'addition', split: 'len_tr8_ts16' },
}

// lego / len_tr8_ts16 (SPEC section 3).
{
  data: { task: 'lego', split: 'len_tr8_ts16' },
}

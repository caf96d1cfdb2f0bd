// lego / len_tr8_ts16_perm (SPEC section 3).
{
  data: { task: 'lego', split: 'len_tr8_ts16_perm' },
}

// poly / n_terms_tr8_ts16 (SPEC section 3).
{
  data: { task: 'poly', split: 'n_terms_tr8_ts16' },
}

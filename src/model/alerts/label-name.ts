import { z } from 'zod';

/** A label name as Prometheus and Alertmanager take them. */
export const labelName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'a label name (letters, digits and _, not starting with a digit)');

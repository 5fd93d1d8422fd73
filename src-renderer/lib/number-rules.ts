import type { FormItemRule } from 'element-plus';

/** The values a numeric field accepts (the bounds of the contract schema it feeds). */
export interface NumberLimits {
  min?: number;
  max?: number;
  /** Whole numbers only. */
  integer?: boolean;
}

/**
 * Why `value` is not a valid `label`, or null when it is. The messages name the field and the
 * accepted range, so the page can show them under the field.
 */
export function numberProblem(label: string, value: unknown, limits: NumberLimits): string | null {
  if (value === null || value === undefined || value === '') return `${label}: enter a number`;
  if (typeof value !== 'number' || !Number.isFinite(value)) return `${label}: not a number`;
  const { min, max } = limits;
  if (min !== undefined && max !== undefined && (value < min || value > max)) return `${label}: must be between ${min} and ${max}`;
  if (min !== undefined && value < min) return `${label}: must be at least ${min}`;
  if (max !== undefined && value > max) return `${label}: must be at most ${max}`;
  if (limits.integer && !Number.isInteger(value)) return `${label}: must be a whole number`;
  return null;
}

/**
 * Element Plus form rules for a numeric field. Forms that use them are `novalidate` and call the
 * form's `validate()` on submit, so a wrong value gets a message under its field instead of a
 * browser tooltip (or, as happened with native `step` checks, a submit that silently does nothing).
 */
export function numberRules(label: string, limits: NumberLimits): FormItemRule[] {
  return [
    {
      trigger: ['blur', 'change'],
      validator: (_rule, value, callback) => {
        const problem = numberProblem(label, value, limits);
        callback(problem === null ? undefined : new Error(problem));
      },
    },
  ];
}

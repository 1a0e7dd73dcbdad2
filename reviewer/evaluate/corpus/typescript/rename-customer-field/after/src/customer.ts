export interface Customer {
  id: string;
  displayName: string;
  email: string;
}

export function greeting(customer: Customer): string {
  return `Hello, ${customer.displayName}`;
}

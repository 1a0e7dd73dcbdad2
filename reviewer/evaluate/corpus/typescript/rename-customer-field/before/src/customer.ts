export interface Customer {
  id: string;
  fullName: string;
  email: string;
}

export function greeting(customer: Customer): string {
  return `Hello, ${customer.fullName}`;
}

-- The Flatmates schema exactly as the old backend's Alembic migrations 001-006 left it
-- (enum labels, column types, defaults, constraint and index names), so that a database
-- created here and one adopted from the old backend are indistinguishable.

CREATE TYPE expensecategory AS ENUM ('groceries', 'utilities', 'rent', 'internet', 'cleaning',
    'maintenance', 'entertainment', 'food', 'transportation', 'other');
CREATE TYPE invitestatus AS ENUM ('pending', 'accepted', 'expired');
CREATE TYPE memberrole AS ENUM ('owner', 'member');
CREATE TYPE paymentmethod AS ENUM ('cash', 'card', 'bank_transfer', 'digital_wallet', 'other');
CREATE TYPE shoppingliststatus AS ENUM ('active', 'archived');
CREATE TYPE splittype AS ENUM ('equal', 'custom', 'percentage');
CREATE TYPE todopriority AS ENUM ('low', 'medium', 'high');
CREATE TYPE todostatus AS ENUM ('pending', 'in_progress', 'completed');

CREATE TABLE users (
    id uuid NOT NULL,
    email varchar NOT NULL,
    full_name varchar NOT NULL,
    google_id varchar NOT NULL,
    profile_picture_url varchar,
    is_active boolean DEFAULT true NOT NULL,
    created_at timestamp DEFAULT now() NOT NULL,
    updated_at timestamp DEFAULT now() NOT NULL,
    CONSTRAINT users_pkey PRIMARY KEY (id)
);
CREATE INDEX ix_users_id ON users (id);
CREATE UNIQUE INDEX ix_users_email ON users (email);
CREATE UNIQUE INDEX ix_users_google_id ON users (google_id);

CREATE TABLE households (
    id uuid NOT NULL,
    name varchar NOT NULL,
    created_by uuid NOT NULL,
    created_at timestamp DEFAULT now() NOT NULL,
    CONSTRAINT households_pkey PRIMARY KEY (id),
    CONSTRAINT households_created_by_fkey FOREIGN KEY (created_by) REFERENCES users (id)
);
CREATE INDEX ix_households_id ON households (id);

CREATE TABLE household_members (
    id uuid NOT NULL,
    user_id uuid NOT NULL,
    household_id uuid NOT NULL,
    role memberrole NOT NULL,
    joined_at timestamp DEFAULT now() NOT NULL,
    CONSTRAINT household_members_pkey PRIMARY KEY (id),
    CONSTRAINT uix_user_household UNIQUE (user_id, household_id),
    CONSTRAINT household_members_household_id_fkey FOREIGN KEY (household_id) REFERENCES households (id),
    CONSTRAINT household_members_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id)
);
CREATE INDEX ix_household_members_id ON household_members (id);

CREATE TABLE household_invites (
    id uuid NOT NULL,
    household_id uuid NOT NULL,
    email varchar,
    token varchar NOT NULL,
    status invitestatus NOT NULL,
    expires_at timestamp NOT NULL,
    created_by uuid NOT NULL,
    created_at timestamp DEFAULT now() NOT NULL,
    CONSTRAINT household_invites_pkey PRIMARY KEY (id),
    CONSTRAINT household_invites_created_by_fkey FOREIGN KEY (created_by) REFERENCES users (id),
    CONSTRAINT household_invites_household_id_fkey FOREIGN KEY (household_id) REFERENCES households (id)
);
CREATE INDEX ix_household_invites_id ON household_invites (id);
CREATE UNIQUE INDEX ix_household_invites_token ON household_invites (token);

CREATE TABLE todos (
    id uuid NOT NULL,
    household_id uuid NOT NULL,
    title varchar NOT NULL,
    description text,
    status todostatus DEFAULT 'pending' NOT NULL,
    priority todopriority DEFAULT 'medium' NOT NULL,
    due_date timestamp,
    assigned_to_id uuid,
    created_by uuid NOT NULL,
    recurring_pattern varchar,
    recurring_until timestamp,
    parent_todo_id uuid,
    completed_at timestamp,
    created_at timestamp DEFAULT now() NOT NULL,
    updated_at timestamp DEFAULT now() NOT NULL,
    CONSTRAINT todos_pkey PRIMARY KEY (id),
    CONSTRAINT todos_assigned_to_id_fkey FOREIGN KEY (assigned_to_id) REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT todos_created_by_fkey FOREIGN KEY (created_by) REFERENCES users (id),
    CONSTRAINT todos_household_id_fkey FOREIGN KEY (household_id) REFERENCES households (id) ON DELETE CASCADE,
    CONSTRAINT todos_parent_todo_id_fkey FOREIGN KEY (parent_todo_id) REFERENCES todos (id) ON DELETE SET NULL
);
CREATE INDEX ix_todos_id ON todos (id);
CREATE INDEX ix_todos_assigned_to_id ON todos (assigned_to_id);
CREATE INDEX ix_todos_due_date ON todos (due_date);
CREATE INDEX ix_todos_household_id ON todos (household_id);
CREATE INDEX ix_todos_status ON todos (status);

CREATE TABLE expenses (
    id uuid NOT NULL,
    household_id uuid NOT NULL,
    created_by uuid NOT NULL,
    amount numeric(10,2) NOT NULL,
    description varchar NOT NULL,
    category expensecategory NOT NULL,
    payment_method paymentmethod NOT NULL,
    date timestamp DEFAULT now() NOT NULL,
    split_type splittype NOT NULL,
    is_personal boolean DEFAULT false NOT NULL,
    created_at timestamp DEFAULT now() NOT NULL,
    updated_at timestamp DEFAULT now() NOT NULL,
    CONSTRAINT expenses_pkey PRIMARY KEY (id),
    CONSTRAINT expenses_created_by_fkey FOREIGN KEY (created_by) REFERENCES users (id),
    CONSTRAINT expenses_household_id_fkey FOREIGN KEY (household_id) REFERENCES households (id)
);
CREATE INDEX ix_expenses_id ON expenses (id);
CREATE INDEX ix_expenses_household_id ON expenses (household_id);

CREATE TABLE expense_splits (
    id uuid NOT NULL,
    expense_id uuid NOT NULL,
    user_id uuid NOT NULL,
    amount_owed numeric(10,2) NOT NULL,
    is_settled boolean DEFAULT false NOT NULL,
    settled_at timestamp,
    created_at timestamp DEFAULT now() NOT NULL,
    CONSTRAINT expense_splits_pkey PRIMARY KEY (id),
    CONSTRAINT expense_splits_expense_id_fkey FOREIGN KEY (expense_id) REFERENCES expenses (id) ON DELETE CASCADE,
    CONSTRAINT expense_splits_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id)
);
CREATE INDEX ix_expense_splits_id ON expense_splits (id);
CREATE INDEX ix_expense_splits_expense_id ON expense_splits (expense_id);
CREATE INDEX ix_expense_splits_user_id ON expense_splits (user_id);

CREATE TABLE item_categories (
    id uuid NOT NULL,
    name varchar NOT NULL,
    icon varchar,
    color varchar,
    household_id uuid,
    created_at timestamp DEFAULT now() NOT NULL,
    CONSTRAINT item_categories_pkey PRIMARY KEY (id),
    CONSTRAINT uq_category_name_household UNIQUE (name, household_id),
    CONSTRAINT item_categories_household_id_fkey FOREIGN KEY (household_id) REFERENCES households (id) ON DELETE CASCADE
);
CREATE INDEX ix_item_categories_id ON item_categories (id);
CREATE INDEX ix_item_categories_household_id ON item_categories (household_id);

CREATE TABLE shopping_lists (
    id uuid NOT NULL,
    household_id uuid NOT NULL,
    name varchar NOT NULL,
    description text,
    status shoppingliststatus DEFAULT 'active' NOT NULL,
    created_by uuid NOT NULL,
    created_at timestamp DEFAULT now() NOT NULL,
    updated_at timestamp DEFAULT now() NOT NULL,
    CONSTRAINT shopping_lists_pkey PRIMARY KEY (id),
    CONSTRAINT shopping_lists_created_by_fkey FOREIGN KEY (created_by) REFERENCES users (id),
    CONSTRAINT shopping_lists_household_id_fkey FOREIGN KEY (household_id) REFERENCES households (id) ON DELETE CASCADE
);
CREATE INDEX ix_shopping_lists_id ON shopping_lists (id);
CREATE INDEX ix_shopping_lists_household_id ON shopping_lists (household_id);
CREATE INDEX ix_shopping_lists_status ON shopping_lists (status);

CREATE TABLE shopping_list_items (
    id uuid NOT NULL,
    shopping_list_id uuid NOT NULL,
    name varchar NOT NULL,
    quantity double precision DEFAULT '1' NOT NULL,
    unit varchar,
    category varchar,
    is_purchased boolean DEFAULT false NOT NULL,
    assigned_to_id uuid,
    price numeric(10,2),
    notes text,
    is_recurring boolean DEFAULT false NOT NULL,
    recurring_pattern varchar,
    recurring_until timestamp,
    last_recurring_date timestamp,
    checked_off_by uuid,
    checked_off_at timestamp,
    "position" integer DEFAULT 0 NOT NULL,
    created_by uuid NOT NULL,
    created_at timestamp DEFAULT now() NOT NULL,
    updated_at timestamp DEFAULT now() NOT NULL,
    CONSTRAINT shopping_list_items_pkey PRIMARY KEY (id),
    CONSTRAINT shopping_list_items_assigned_to_id_fkey FOREIGN KEY (assigned_to_id) REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT shopping_list_items_checked_off_by_fkey FOREIGN KEY (checked_off_by) REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT shopping_list_items_created_by_fkey FOREIGN KEY (created_by) REFERENCES users (id),
    CONSTRAINT shopping_list_items_shopping_list_id_fkey FOREIGN KEY (shopping_list_id) REFERENCES shopping_lists (id) ON DELETE CASCADE
);
CREATE INDEX ix_shopping_list_items_id ON shopping_list_items (id);
CREATE INDEX ix_shopping_list_items_category ON shopping_list_items (category);
CREATE INDEX ix_shopping_list_items_is_purchased ON shopping_list_items (is_purchased);
CREATE INDEX ix_shopping_list_items_position ON shopping_list_items ("position");
CREATE INDEX ix_shopping_list_items_shopping_list_id ON shopping_list_items (shopping_list_id);

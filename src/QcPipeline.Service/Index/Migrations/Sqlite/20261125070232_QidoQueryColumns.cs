using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace QcPipeline.Service.Index.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class QidoQueryColumns : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "AccessionNumber",
                table: "Instances",
                type: "TEXT",
                maxLength: 64,
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "BitsAllocated",
                table: "Instances",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "Client",
                table: "Instances",
                type: "TEXT",
                maxLength: 128,
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "Columns",
                table: "Instances",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<bool>(
                name: "HasQueryAttributes",
                table: "Instances",
                type: "INTEGER",
                nullable: false,
                defaultValue: false);

            migrationBuilder.AddColumn<int>(
                name: "InstanceNumber",
                table: "Instances",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "NumberOfFrames",
                table: "Instances",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "PatientBirthDate",
                table: "Instances",
                type: "TEXT",
                maxLength: 16,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "PatientId",
                table: "Instances",
                type: "TEXT",
                maxLength: 64,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "PatientName",
                table: "Instances",
                type: "TEXT",
                maxLength: 400,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "PatientSex",
                table: "Instances",
                type: "TEXT",
                maxLength: 16,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "PerformedProcedureStepStartDate",
                table: "Instances",
                type: "TEXT",
                maxLength: 16,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "PerformedProcedureStepStartTime",
                table: "Instances",
                type: "TEXT",
                maxLength: 32,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "ReferringPhysicianName",
                table: "Instances",
                type: "TEXT",
                maxLength: 400,
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "Rows",
                table: "Instances",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "SeriesDescription",
                table: "Instances",
                type: "TEXT",
                maxLength: 128,
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "SeriesNumber",
                table: "Instances",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "StationName",
                table: "Instances",
                type: "TEXT",
                maxLength: 64,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "StudyDate",
                table: "Instances",
                type: "TEXT",
                maxLength: 16,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "StudyDescription",
                table: "Instances",
                type: "TEXT",
                maxLength: 128,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "StudyId",
                table: "Instances",
                type: "TEXT",
                maxLength: 64,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "StudyTime",
                table: "Instances",
                type: "TEXT",
                maxLength: 32,
                nullable: true);

            migrationBuilder.CreateIndex(
                name: "IX_Instances_AccessionNumber",
                table: "Instances",
                column: "AccessionNumber");

            migrationBuilder.CreateIndex(
                name: "IX_Instances_Modality",
                table: "Instances",
                column: "Modality");

            migrationBuilder.CreateIndex(
                name: "IX_Instances_PatientId",
                table: "Instances",
                column: "PatientId");

            migrationBuilder.CreateIndex(
                name: "IX_Instances_PatientName",
                table: "Instances",
                column: "PatientName");

            migrationBuilder.CreateIndex(
                name: "IX_Instances_SeriesInstanceUid",
                table: "Instances",
                column: "SeriesInstanceUid");

            migrationBuilder.CreateIndex(
                name: "IX_Instances_StationName",
                table: "Instances",
                column: "StationName");

            migrationBuilder.CreateIndex(
                name: "IX_Instances_StudyDate",
                table: "Instances",
                column: "StudyDate");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_Instances_AccessionNumber",
                table: "Instances");

            migrationBuilder.DropIndex(
                name: "IX_Instances_Modality",
                table: "Instances");

            migrationBuilder.DropIndex(
                name: "IX_Instances_PatientId",
                table: "Instances");

            migrationBuilder.DropIndex(
                name: "IX_Instances_PatientName",
                table: "Instances");

            migrationBuilder.DropIndex(
                name: "IX_Instances_SeriesInstanceUid",
                table: "Instances");

            migrationBuilder.DropIndex(
                name: "IX_Instances_StationName",
                table: "Instances");

            migrationBuilder.DropIndex(
                name: "IX_Instances_StudyDate",
                table: "Instances");

            migrationBuilder.DropColumn(
                name: "AccessionNumber",
                table: "Instances");

            migrationBuilder.DropColumn(
                name: "BitsAllocated",
                table: "Instances");

            migrationBuilder.DropColumn(
                name: "Client",
                table: "Instances");

            migrationBuilder.DropColumn(
                name: "Columns",
                table: "Instances");

            migrationBuilder.DropColumn(
                name: "HasQueryAttributes",
                table: "Instances");

            migrationBuilder.DropColumn(
                name: "InstanceNumber",
                table: "Instances");

            migrationBuilder.DropColumn(
                name: "NumberOfFrames",
                table: "Instances");

            migrationBuilder.DropColumn(
                name: "PatientBirthDate",
                table: "Instances");

            migrationBuilder.DropColumn(
                name: "PatientId",
                table: "Instances");

            migrationBuilder.DropColumn(
                name: "PatientName",
                table: "Instances");

            migrationBuilder.DropColumn(
                name: "PatientSex",
                table: "Instances");

            migrationBuilder.DropColumn(
                name: "PerformedProcedureStepStartDate",
                table: "Instances");

            migrationBuilder.DropColumn(
                name: "PerformedProcedureStepStartTime",
                table: "Instances");

            migrationBuilder.DropColumn(
                name: "ReferringPhysicianName",
                table: "Instances");

            migrationBuilder.DropColumn(
                name: "Rows",
                table: "Instances");

            migrationBuilder.DropColumn(
                name: "SeriesDescription",
                table: "Instances");

            migrationBuilder.DropColumn(
                name: "SeriesNumber",
                table: "Instances");

            migrationBuilder.DropColumn(
                name: "StationName",
                table: "Instances");

            migrationBuilder.DropColumn(
                name: "StudyDate",
                table: "Instances");

            migrationBuilder.DropColumn(
                name: "StudyDescription",
                table: "Instances");

            migrationBuilder.DropColumn(
                name: "StudyId",
                table: "Instances");

            migrationBuilder.DropColumn(
                name: "StudyTime",
                table: "Instances");
        }
    }
}
